# 民生警务平台 — make run | make test | make install
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Debian packages the test suite drives (a real browser, CJK fonts for screenshots).
TEST_DEBS := chromium fonts-noto-cjk

.PHONY: install install-test run test lint debs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@echo "已安装到 $(VENV)（控制台命令：$(BIN)/minsheng）"

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

run: install
	$(BIN)/minsheng migrate --noinput -v0
	$(BIN)/minsheng setup-demo
	$(BIN)/minsheng serve --port $(PORT)

# Installs the Debian packages the tests need when they are missing (needs root, as on CI).
debs:
	@missing=""; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "安装测试所需的系统软件包:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi; \
	fi

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install-test debs lint
	$(BIN)/minsheng check --fail-level WARNING
	$(BIN)/minsheng makemigrations --check --dry-run
	$(BIN)/pytest -n 2 -p no:cacheprovider

clean:
	rm -rf $(VENV) var build *.egg-info
