#!/usr/bin/env bash
# Git merge driver for gettext catalogues: the union of both sides, ours first.
# Enable once per clone:  git config merge.po-union.driver "scripts/po-merge-driver.sh %A %B"
# then run scripts/update-translations.sh to drop entries the code no longer uses.
set -euo pipefail
ours=$1 theirs=$2
msgcat --use-first -o "$ours.merged" "$ours" "$theirs"
mv "$ours.merged" "$ours"
