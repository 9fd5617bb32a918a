# Sourced by the set-up, release and install-test scripts: install the Debian packages of a list
# that are missing, once, with one retry (BUILD-NOTES: an "apt-get install" failed once with
# "cannot access archive"; `apt-get install -f` and a retry fixed it).
# Usage: need_pkgs WHO PACKAGE...   (WHO names the script in its messages)
need_pkgs() {
  local who="$1" missing=() p sudo=""
  shift
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    echo "$who: Debian packages already installed"
    return
  fi
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "$who: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" \
    || { $sudo apt-get install -f -y -q; $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"; }
}
