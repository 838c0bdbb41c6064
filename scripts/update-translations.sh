#!/usr/bin/env bash
# Refresh the catalogues from the code: new strings appear untranslated in zh_Hant and zh_Hans
# (never as fuzzy guesses, which would ship wrong text), and en is regenerated from the
# English source strings. Then translate what msgfmt --statistics reports as untranslated.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
IGNORE=(--ignore '.venv/*' --ignore 'node_modules/*' --ignore 'tests/*' --ignore 'var/*' --ignore 'bench/*')

$PY manage.py makemessages -l zh_Hant -l zh_Hans "${IGNORE[@]}" --no-location -v 0
for lang in zh_Hant zh_Hans; do
  po=locale/$lang/LC_MESSAGES/django.po
  msgattrib --clear-fuzzy --empty --clear-previous --no-obsolete -o "$po" "$po"
done

rm -f locale/en/LC_MESSAGES/django.po
$PY manage.py makemessages -l en "${IGNORE[@]}" --no-location -v 0
po=locale/en/LC_MESSAGES/django.po
msgen -o "$po" "$po"
sed -i -e '0,/^#, fuzzy$/{/^#, fuzzy$/d}' \
  -e 's/^"Language: \\n"/"Language: en\\n"/' \
  -e 's/^"Plural-Forms: .*/"Plural-Forms: nplurals=2; plural=(n != 1);\\n"/' \
  -e 's/^"Project-Id-Version: .*/"Project-Id-Version: district-portal\\n"/' \
  -e 's/^"PO-Revision-Date: .*/"PO-Revision-Date: 2026-11-21 00:00+0800\\n"/' \
  -e 's/^"Last-Translator: .*/"Last-Translator: District Portal team\\n"/' \
  -e 's/^"Language-Team: .*/"Language-Team: English\\n"/' "$po"

for lang in zh_Hant zh_Hans en; do
  printf '%s: ' "$lang"; msgfmt --check --statistics -o /dev/null "locale/$lang/LC_MESSAGES/django.po"
done
