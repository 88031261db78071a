# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?= data/huitian/area.toml

.PHONY: run test lint bench system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/circle15 run $(CONFIG)

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check coverage tests scripts
	$(BIN)/mypy

# Debian packages everything needs (as root; CI runs it in .ci/run). One package per line, with
# who needs it (tests skip outside CI when one is missing and fail in CI, where CI=true):
#   make python3 python3-venv           the venv (`python3 -m venv` needs Debian's ensurepip)
#   chromium chromium-driver            real-browser tests of the map, report and workspace
#   fonts-noto-cjk                      Chinese text in charts, static maps and the PDF
#   libpango-1.0-0 libpangoft2-1.0-0    WeasyPrint (report.pdf)
#   libharfbuzz-subset0                 WeasyPrint's font subsetting (warns without it)
#   poppler-utils                       pdftoppm/pdffonts/pdfimages: the PDF tests
#   python3-qgis                        QGIS tests: open coverage.qgz with Debian's /usr/bin/python3
#                                       (pulls qgis-providers: the OSM XYZ layer's provider)
#   osmium-tool                         `osmium cat` writes the .osm.pbf test fixtures
SYSTEM_PACKAGES := make python3 python3-venv chromium chromium-driver fonts-noto-cjk \
	libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils python3-qgis osmium-tool

system-deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	  $(SYSTEM_PACKAGES)

clean:
	rm -rf $(VENV) out .pytest_cache
