#!/usr/bin/env bash
# Refresh the Russian catalog from the code, then compile it (docs/i18n.md).
#   bash scripts/messages.sh           # makemessages + compilemessages, then the statistics
#   bash scripts/messages.sh --check   # statistics only; exit 1 while an entry is untranslated or fuzzy
# makemessages adds every newly marked string to locale/ru/LC_MESSAGES/django.po with an empty msgstr (and
# marks changed ones "fuzzy"); translate those by hand (docs/i18n.md: glossary), drop the "fuzzy" flags, and
# run this again: compilemessages writes django.mo. Commit both files: the server reads only the .mo.
set -euo pipefail
cd "$(dirname "$0")/.."
PO=locale/ru/LC_MESSAGES/django.po
IGNORE=(--ignore=.venv --ignore=var --ignore=tests --ignore=bench --ignore=tools --ignore=shared --ignore=node_modules)
if [ "${1:-}" != "--check" ]; then
  # --add-location=file: no line numbers, so an unrelated edit does not rewrite the whole catalog
  .venv/bin/python manage.py makemessages -l ru --no-obsolete --add-location=file "${IGNORE[@]}"
  .venv/bin/python manage.py compilemessages -l ru "${IGNORE[@]}"
fi
# -c: the format strings of each translation match their msgid's (%(name)s, {name}); plural forms counted
stats=$(msgfmt -c --statistics -o /dev/null "$PO" 2>&1)
echo "$PO: $stats"
case "$stats" in
  *fuzzy*|*untranslated*) echo "translate the entries above (msgattrib --untranslated $PO and msgattrib --only-fuzzy $PO list them)"; exit 1 ;;
esac
