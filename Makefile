# sohoa: set-up, demo, tests. Every target installs what it needs and is idempotent.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .tools
VERAPDF_LIB := $(TOOLS)/verapdf/lib
APT_PACKAGES := tesseract-ocr libtesseract5 tesseract-ocr-vie tesseract-ocr-eng ghostscript poppler-utils \
	fonts-dejavu-core fonts-dejavu-extra fonts-liberation fonts-liberation2 fonts-noto-core \
	fonts-freefont-ttf postgresql chromium chromium-driver openjdk-17-jre-headless maven tzdata \
	softhsm2 opensc
DEMO_DIR := demo
PG_PORT ?= 5432

.PHONY: setup system-deps venv verapdf demo test test-fast lint db-up bench bench-accuracy \
	bench-scale bench-memory bench-serve \
	report-screenshot report-png clean

setup: system-deps venv verapdf

# Debian packages: installed only when one is missing, so a warm machine pays nothing.
system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		SUDO=$$( [ $$(id -u) -eq 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

# veraPDF, the reference PDF/A validator, from Maven Central into an ignored folder.
verapdf: $(VERAPDF_LIB)/.fetched

$(VERAPDF_LIB)/.fetched: tools/verapdf/pom.xml
	mvn -q -f tools/verapdf/pom.xml dependency:copy-dependencies -DoutputDirectory=$(abspath $(VERAPDF_LIB))
	@touch $@

demo: setup
	@rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	cd $(DEMO_DIR) && ../$(BIN)/sohoa init
	cd $(DEMO_DIR) && ../$(BIN)/sohoa sample scans --records 12 --seed 1
	cd $(DEMO_DIR) && ../$(BIN)/sohoa inventory import scans/_inventory.csv
	cd $(DEMO_DIR) && ../$(BIN)/sohoa run scans --batch box-001
	cd $(DEMO_DIR) && ../$(BIN)/sohoa status --batch box-001
	cd $(DEMO_DIR) && ../$(BIN)/sohoa coverage --by procedure
	cd $(DEMO_DIR) && ../$(BIN)/sohoa link
	cd $(DEMO_DIR) && ../$(BIN)/sohoa verify
	cd $(DEMO_DIR) && ../$(BIN)/sohoa search "dang ky khai sinh" --limit 3
	cd $(DEMO_DIR) && ../$(BIN)/sohoa report --html report.html
	@echo "signed PDF/A files:" && find $(DEMO_DIR)/sohoa-data/archive -name '*.pdf' | sort

# PostgreSQL from Debian, started on 127.0.0.1 for the tests; prints the URL to use.
db-up: system-deps
	@bash tools/db-up.sh $(PG_PORT)

test: setup db-up
	SOHOA_TEST_POSTGRES_URL=$$(bash tools/db-up.sh $(PG_PORT) --url-only) $(BIN)/pytest

test-fast: venv
	$(BIN)/pytest -m "not slow"

lint: venv
	$(BIN)/ruff check sohoa tests bench

# sohoa vs OCRmyPDF vs raw tesseract, same corpus, 3 repetitions (~1 h on 2 shared cores).
bench: setup
	$(BIN)/python bench/throughput.py

# Big batches: 200,000 tiny records through `sohoa run --engine null`; one A3 600 dpi page.
bench-scale: setup
	$(BIN)/python bench/scale_null.py

bench-memory: setup
	$(BIN)/python bench/a3_rss.py

# sohoa serve under 50 loopback clients for 60 s on 10^5 generated records (issue 14).
bench-serve: setup
	cd bench && ../$(BIN)/python serve_load.py --records 100000 --clients 50 --seconds 60

# Tuning split (seed 0) then the held-back test split (seed 1000); each ~10 min on 2 cores.
bench-accuracy: setup
	$(BIN)/python bench/accuracy.py --split tune
	$(BIN)/python bench/accuracy.py --split test

# The demo's HTML report, rendered by headless Chromium into docs/report.png (256 colours,
# small enough to commit). `make report-png REPORT_HTML=x.html` renders another report alone.
REPORT_HTML ?= $(DEMO_DIR)/report.html
report-screenshot: demo report-png

report-png:
	@mkdir -p docs
	@shot=$$(mktemp --suffix=.png) && \
	chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--hide-scrollbars --user-data-dir=$$(mktemp -d) --window-size=1280,2900 \
		--screenshot=$$shot file://$(abspath $(REPORT_HTML)) 2>/dev/null && \
	$(BIN)/python -c "import sys; from PIL import Image; \
		Image.open(sys.argv[1]).convert('RGB').quantize(256).save(sys.argv[2], optimize=True)" \
		$$shot docs/report.png && rm -f $$shot
	@echo "screenshot: docs/report.png ($$(du -k docs/report.png | cut -f1) KB)"

clean:
	rm -rf $(DEMO_DIR) sohoa-data .pytest_cache
