#!/bin/sh
# Installs Debian's Chromium (and CJK fonts for the Chinese pages) for the browser tests when
# either is missing (the CJK fonts also render the Chinese PDFs): as root directly, otherwise
# through passwordless sudo. apt-get's own errors are left on the terminal so a failed install
# says why. Exit status 0 when Chromium is there afterwards; the browser tests then fail under
# CI=true and skip otherwise if it is not.
set -u
CJK_FONT=${CJK_FONT:-/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc}
command -v chromium >/dev/null 2>&1 && [ -e "$CJK_FONT" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  set --
else
  set -- sudo -n
fi
echo "installing Debian's chromium for the browser tests (apt-get install chromium fonts-noto-cjk)"
if "$@" env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
  && "$@" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; then
  exit 0
fi
echo "could not install chromium (needs root or passwordless sudo): browser tests will fail under CI=true, skip otherwise" >&2
exit 1
