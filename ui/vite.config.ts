import { defineConfig } from "vite";

// Everything is bundled: the app makes no network request for its own assets.
export default defineConfig({
  clearScreen: false,
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", assetsInlineLimit: 0 },
  server: { port: 1420, strictPort: true },
});
