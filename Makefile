# sohoa: set-up, demo, tests. Every target installs what it needs and is idempotent.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .tools
VERAPDF_LIB := $(TOOLS)/verapdf/lib
APT_PACKAGES := tesseract-ocr tesseract-ocr-vie tesseract-ocr-eng ghostscript poppler-utils qpdf \
	fonts-dejavu-core fonts-liberation fonts-noto-core postgresql chromium
DEMO_DIR := demo
PG_PORT ?= 5432

.PHONY: setup system-deps venv verapdf demo test test-fast lint db-up bench bench-accuracy \
	report-screenshot clean

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
	cd $(DEMO_DIR) && ../$(BIN)/sohoa run scans --batch box-001
	cd $(DEMO_DIR) && ../$(BIN)/sohoa status box-001
	cd $(DEMO_DIR) && ../$(BIN)/sohoa inventory import scans/_inventory.csv
	cd $(DEMO_DIR) && ../$(BIN)/sohoa coverage --by procedure
	cd $(DEMO_DIR) && ../$(BIN)/sohoa verify
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

bench: setup
	$(BIN)/python bench/throughput.py

bench-accuracy: setup
	$(BIN)/python bench/accuracy.py

# The demo's HTML report, rendered by headless Chromium into demo/report.png.
report-screenshot: demo
	chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir=$$(mktemp -d) --window-size=1280,1800 \
		--screenshot=$(abspath $(DEMO_DIR))/report.png file://$(abspath $(DEMO_DIR))/report.html
	@echo "screenshot: $(DEMO_DIR)/report.png"

clean:
	rm -rf $(DEMO_DIR) sohoa-data .pytest_cache
