# Sourced by the scripts: one persistent Cargo target directory outside the clone, so that a
# fresh clone (CI) builds incrementally on a machine that has built Jingwei before.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/jingwei/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
mkdir -p "$CARGO_TARGET_DIR"
