# Two commands: `make run` serves the app with demo data, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := TRACKER_ENV=development $(BIN)/flask --app wsgi
WEASYPRINT_LIBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0

.PHONY: run test venv dev-venv weasyprint-libs db clean

run: venv weasyprint-libs db
	@$(FLASK) seed-demo
	$(FLASK) run --host 127.0.0.1 --port 5000

test: dev-venv weasyprint-libs
	$(BIN)/pytest $(PYTEST_ARGS)

venv: $(VENV)/.installed
dev-venv: $(VENV)/.installed-dev

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

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

db: venv
	$(FLASK) db upgrade

clean:
	rm -rf $(VENV) .pytest_cache
