#!/usr/bin/env bash
# Writes man/cbuild-<command>.1 for every subcommand from its --help text (options and
# usage stay in one place: the CLI definitions). cbuild-build.1 is written by hand and kept.
# Usage: man/make-pages.sh path/to/cbuild     (tests/integration/man_pages.test.sh checks them)
set -euo pipefail
cbuild=$1
here=$(cd "$(dirname "$0")" && pwd)
date=$(sed -n 's/^\.TH [^ ]* 1 "\([^"]*\)".*/\1/p' "$here/cbuild.1")
version=$(sed -n 's/^\.TH [^ ]* 1 "[^"]*" "\([^"]*\)".*/\1/p' "$here/cbuild.1")
esc() { sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\&'/" -e 's/-/\\-/g'; }
"$cbuild" --help | awk '/^Subcommands:/ {on = 1; next} on && NF {print $1}' | while read -r cmd; do
  [ "$cmd" = build ] && continue
  help=$("$cbuild" "$cmd" --help)
  summary=$(printf '%s\n' "$help" | head -n 1)
  {
    echo ".TH CBUILD-${cmd^^} 1 \"$date\" \"$version\" \"User Commands\""
    echo ".SH NAME"
    echo "cbuild\\-$cmd \\- $(printf '%s' "$summary" | esc)"
    echo ".SH SYNOPSIS"
    echo ".nf"
    printf '%s\n' "$help" | sed -n 's/^Usage: //p' | sed 's/^[^ ]*cbuild/cbuild/' | esc
    echo ".fi"
    echo ".SH OPTIONS"
    echo ".nf"
    printf '%s\n' "$help" | sed -n '/^\(Options\|Positionals\|Subcommands\):/,$p' | esc
    echo ".fi"
    echo ".SH SEE ALSO"
    echo ".BR cbuild (1)"
  } >"$here/cbuild-$cmd.1"
done
