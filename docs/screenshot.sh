#!/bin/sh
# Makes docs/report.png, the README's picture of `streamdb report --html`: the page `streamdb demo`
# writes, rendered by headless chromium the way the tests render it (HTMLReportTests).
# Run from the checkout: sh docs/screenshot.sh (needs chromium: apt-get install chromium).
set -eu
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
swift build --product streamdb >/dev/null
(cd "$work" && "$root/.build/debug/streamdb" demo >/dev/null)
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
  --window-size=1280,1700 --screenshot="$root/docs/report.png" "file://$work/streamdb-demo.html" 2>/dev/null
echo "wrote docs/report.png"
