# Sourced by the scripts: one persistent Cargo target directory outside the clone, so that a
# fresh clone (CI) builds incrementally on a machine that has built Jingwei before.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/jingwei/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
mkdir -p "$CARGO_TARGET_DIR"
# A private Node.js (installed by setup.sh only when the system's is too old for Vite).
export JINGWEI_NODE_PREFIX="${JINGWEI_NODE_PREFIX:-$HOME/.cache/jingwei/node}"
# (node_modules/.bin holds both its node and a complete npm.)
if [ -x "$JINGWEI_NODE_PREFIX/node_modules/.bin/node" ] && [ -x "$JINGWEI_NODE_PREFIX/node_modules/.bin/npm" ]; then
  export PATH="$JINGWEI_NODE_PREFIX/node_modules/.bin:$PATH"
fi
# rustup's cargo, where a login shell has not put it on PATH yet.
if ! command -v cargo >/dev/null && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
