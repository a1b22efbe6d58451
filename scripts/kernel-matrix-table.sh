#!/bin/bash
# The support table of docs/kernels.md, from the kernel-matrix lane's results:
#   scripts/kernel-matrix-table.sh RESULTS LAYOUT...   (RESULTS/LAYOUT/results.txt, kernel.txt)
# One row per layout, one column per area; a cell says passed (with the count of tests), what
# degrades, FAILED, or "not run" when the lane runs no test of that area in that layout.
set -euo pipefail
results=$1
shift
areas="recorder|trace exec|trace open|trace signal|trace mount|trace bind|trace tcp|trace ptrace|trace oomkill|trace startup|trace capabilities|top tcp|supervisor|daemon + hook"
IFS='|' read -r -a columns <<< "$areas"

header="| kernel | cgroups |"
rule="|---|---|"
for area in "${columns[@]}"; do header="$header $area |"; rule="$rule---|"; done
echo "$header"
echo "$rule"
for layout in "$@"; do
    file=$results/$layout/results.txt
    kernel=$(sed -n 's/^kernel //p' "$results/$layout/kernel.txt" 2>/dev/null || true)
    case $layout in v2) name="v2 only" ;; v1) name="v1 only" ;; *) name=$layout ;; esac
    row="| ${kernel:-did not boot} | $name |"
    for area in "${columns[@]}"; do
        if [ ! -s "$file" ]; then cell="no result"
        else
            passed=$(grep -c "^passed|$area|" "$file" || true)
            failed=$(grep -c "^failed|$area|" "$file" || true)
            degrades=$(grep "^degrades|$area|" "$file" | cut -d'|' -f3 | head -1 || true)
            if [ "$failed" -gt 0 ]; then cell="**FAILED** ($failed of $((passed + failed)))"
            elif [ -n "$degrades" ]; then cell="unavailable: $degrades"
            elif [ "$passed" -gt 0 ]; then cell="passed ($passed)"
            else cell="not run"
            fi
        fi
        row="$row $cell |"
    done
    echo "$row"
done
