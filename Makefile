# Thin wrapper around CMake.  `make` builds build/jobwatchd, `make test` runs
# every test through CTest, `make test SANITIZE=1` does the same in an
# ASan+UBSan build (build-san/).  Each target first checks build dependencies.

BUILD_DIR ?= build
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_FLAGS ?= --output-on-failure -j$(JOBS)

ifeq ($(SANITIZE),1)
BUILD_DIR := build-san
CMAKE_FLAGS += -DJW_SANITIZE=ON
endif
ifeq ($(WERROR),1)
CMAKE_FLAGS += -DJW_WERROR=ON
endif

.PHONY: all deps build test install demo bench soak fuzz deb clean format

all: build

deps:
	@scripts/deps.sh

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) --log-level=WARNING -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS)

test: build
	@scripts/deps.sh --test
	cd $(BUILD_DIR) && ctest $(CTEST_FLAGS)

install: build
	cmake --install $(BUILD_DIR) $(if $(PREFIX),--prefix $(PREFIX))

# The demo needs only the daemon: build that alone, quietly (the log is kept).
demo: deps $(BUILD_DIR)/CMakeCache.txt
	@scripts/deps.sh --demo
	@echo "demo: building jobwatchd (log: $(BUILD_DIR)/demo-build.log)"
	@cmake --build $(BUILD_DIR) -j$(JOBS) --target jobwatchd >$(BUILD_DIR)/demo-build.log 2>&1 || \
		{ tail -n 30 $(BUILD_DIR)/demo-build.log; exit 1; }
	@scripts/demo.sh $(BUILD_DIR)

bench: build
	@scripts/deps.sh --bench
	@bench/run.sh $(BUILD_DIR)

# The long forms: >= 100 SIGKILL crash-restarts, and a time-compressed soak
# with RSS sampled (about 20 minutes in all).
soak: build
	@scripts/deps.sh --test
	JW_SOAK=1 JW_BUILD_DIR=$(abspath $(BUILD_DIR)) JW_SOURCE_DIR=$(CURDIR) python3 tests/scenario/test_crash_restart.py
	JW_SOAK=1 JW_BUILD_DIR=$(abspath $(BUILD_DIR)) JW_SOURCE_DIR=$(CURDIR) python3 tests/scenario/test_soak_rss.py

# A Debian package, jobwatchd_VERSION_ARCH.deb, in this directory.
deb:
	@scripts/deps.sh --deb
	@scripts/deb.sh

fuzz:
	@scripts/deps.sh --fuzz
	@scripts/fuzz.sh

format:
	clang-format -i daemon/*.c daemon/*.h daemon/*/*.c daemon/*/*.h tests/unit/*.c

clean:
	rm -rf build build-san build-fuzz build-deb
