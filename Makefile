# Two commands: `make run` serves the app with demo data, `make test` runs the suite.
# `make install` is what a server needs (README, "Deploying"); `make lint` checks the code with ruff.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := TRACKER_ENV=development $(BIN)/flask --app wsgi
WEASYPRINT_LIBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0

CATALOGS := $(wildcard tracker/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

.PHONY: install run test lint venv dev-venv lock weasyprint-libs browser-deps db translations extract-messages clean

# A virtualenv with the locked runtime packages (installed with --require-hashes), WeasyPrint's system
# libraries and the compiled French catalogue: all a server needs before `flask db upgrade` and gunicorn.
install: venv weasyprint-libs translations

run: install db
	@$(FLASK) seed-demo
	$(FLASK) run --host 127.0.0.1 --port 5000

test: install dev-venv browser-deps
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

# ruff, configured in pyproject.toml.
lint: dev-venv
	$(BIN)/ruff check .

# The French catalogue is kept as .po in the repository and compiled here.
translations: $(COMPILED)
%.mo: %.po | venv
	$(BIN)/pybabel -q compile -f -i $< -o $@

# For developers: refresh the catalogues after changing messages.
extract-messages: venv
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 --no-location --sort-output -o messages.pot .
	$(BIN)/pybabel -q update -i messages.pot -d tracker/translations --no-fuzzy-matching
	rm -f messages.pot

venv: $(VENV)/.installed
dev-venv: $(VENV)/.installed-dev

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --require-hashes -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/pip install -q --require-hashes -r requirements-dev.txt
	touch $@

# The locks: requirements.txt and requirements-dev.txt pin every package, with its hashes, from the
# requirements*.in files. After changing a pin in an .in file: `make lock`. To take a newer release of one
# package the .in files do not pin (a dependency of a dependency): `make lock UPGRADE=NAME`.
PIP_COMPILE := $(BIN)/pip-compile -q --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	--no-emit-find-links $(if $(UPGRADE),--upgrade-package $(UPGRADE))
lock: dev-venv
	$(PIP_COMPILE) -o requirements.txt requirements.in
	$(PIP_COMPILE) -o requirements-dev.txt requirements-dev.in

# WeasyPrint needs Pango and HarfBuzz from the system.
weasyprint-libs: venv
	@$(BIN)/python -c "import weasyprint" 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing WeasyPrint's system libraries: $(WEASYPRINT_LIBS)"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(WEASYPRINT_LIBS); \
	  else \
	    echo "WeasyPrint needs system libraries. Run:"; \
	    echo "  sudo apt-get install -y $(WEASYPRINT_LIBS)"; \
	    exit 1; \
	  fi; }

# axe-core for the real-browser tests (tests/browser), pinned by its package-lock.json. Without npm (or
# Chromium) the browser tests are skipped, and `make test` says so and why.
AXE_STAMP := tests/browser/node_modules/.package-lock.json
browser-deps:
	@if command -v npm >/dev/null 2>&1; then \
	  if [ ! -f $(AXE_STAMP) ] || [ tests/browser/package-lock.json -nt $(AXE_STAMP) ]; then \
	    npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error >/dev/null \
	      || echo "npm ci --prefix tests/browser failed: the browser tests will be skipped"; \
	  fi; \
	fi

db: venv
	$(FLASK) db upgrade

clean:
	rm -rf $(VENV) .pytest_cache
