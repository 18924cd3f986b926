# kbank: build the module and the programs, and run the VM targets.
#
#   make              the programs, then the module (against KDIR)
#   make progs        the programs: userspace/ and the suite's, tests/suite/
#   make module       bank.ko, against KDIR (default: the running kernel)
#   make clean        remove what the builds made
#   make demo         the lesson: natively where modules load, else in a VM
#   make check        lint, ABI, the suite and the docs' sessions (native or VM)
#   make vm-shell     the VM with bank.ko loaded and a shell; poweroff leaves
#   make lint         checkpatch, W=1, sparse, -Werror builds
#   make bench        every lock mode measured, into build/bench/; fails
#                     on a failed or missing row or a missed target
#   make bench-guard  a short bench: its ratios against docs/bench/baseline.txt
#   make bench-baseline  the same run in 3 boots, written as the baseline
#                     (BASELINE=file: another file, for both; RUNS=n boots)
#   make bench-profile  where a deposit's time goes, by function (perf in the VM)
#   make debug-kernel build the debug kernel (lockdep, KCSAN, KUnit) once
#   make check-debug  make check on the debug kernel
#   make demo-kcsan   KCSAN's report of lock mode none's race
#   make demo-readers statements read while transfers run: a row per
#                     strategy of "statement" (locks ... rcu)
#   make demo-deadlock two transfers deadlock; lockdep proves it; the fix
#                     (builds the debug kernel once, ~10 min; STOCK=1: part 1 only)
#   make demo-irq     interest paid from softirq, hardirq, a workqueue; the
#                     wrong primitive and lockdep's proof; the fix (STOCK=1 too)
#   make check-matrix the suite on every Debian kernel from 5.10 to 7.3-rc,
#                     and on bookworm's arm64 kernel (KERNELS=arm64: that row
#                     alone; scripts/kernels/extra-kernel.sh --list names them)
#   make check-distro the README's own-VM steps in full Debian systems
#   make fuzz         the ABI fuzzer in a VM: SEED=n SECONDS=s per lock mode
#                     (LOCKS=mutex,spinlock,atomic,none WORKERS=4 OPS=n KERNEL=)
#   make check-sanitize  the suite, the fuzz, the fail-nth walk and kmemleak
#                     on the sanitizer kernel (KASAN, UBSAN, kmemleak)
#   make exercise     the lab: a student's copy in exercise/ (EXERCISE=dir, FORCE=1)
#   make grade        mark the student's copy in the VM (EXERCISE=, TASK=n)
#   make lab-demo     make demo with the student's copy (EXERCISE=)
#   make check-lab    test the examiner: solved, unsolved, typical mistakes
#   make check-hang   a guest hung on purpose must leave vm.sh's diagnosis
#   make soak         make TARGET, RUNS times: pass/fail counts, the failed
#                     runs' logs in build/soak/ (TARGET=demo RUNS=10)
#   make help         this list

KDIR ?= /lib/modules/$(shell uname -r)/build

CC ?= cc
CFLAGS ?= -O2 -g
# What the code needs, kept when CFLAGS is given on the command line.
BANK_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude/uapi -Iuserspace
# STATIC=1 links the programs statically (the VM has no libc).
LDFLAGS += $(if $(STATIC),-static)
LDLIBS += -lpthread
# OUT=dir puts the programs there instead of in userspace/ and tests/.
OUT ?=

PROGS := deposit withdraw bankctl bank-race bank-bench bank-transfer bank-statement
# The suite: tests/suite/TOPIC.c is the program suite-TOPIC.
SUITE := device ioctls wait modes reply transfer programs trace interest statement kernel
COMMON := userspace/bank_client.c
HEADERS := include/uapi/linux/bank.h userspace/bank_client.h userspace/bankloop.h
SUITE_HEADERS := tests/suite/harness.h tests/suite/helpers.h

prog = $(if $(OUT),$(OUT)/$(1),$(2)/$(1))
PROG_BINS := $(foreach p,$(PROGS),$(call prog,$(p),userspace))
# The ABI fuzzer and the lab's examiner.
TEST_BINS := $(call prog,bank_fuzz,tests/fuzz) $(call prog,bank_lab,tests/lab)
SUITE_BINS := $(foreach s,$(SUITE),$(call prog,suite-$(s),tests/suite))

.PHONY: all module progs clean check lint demo bench bench-guard \
	bench-baseline bench-profile vm-shell help \
	debug-kernel check-debug demo-kcsan demo-deadlock demo-irq demo-readers check-matrix \
	check-distro fuzz check-sanitize sanitize-kernel \
	exercise grade check-lab lab-demo check-hang soak

# The programs first: they build even where the module cannot.
all: progs module

module:
	@test -d "$(KDIR)" || { echo "make: no kernel build tree at $(KDIR):" \
		"install the headers (apt-get install linux-headers-$$(uname -r))" \
		"or pass KDIR=" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

progs: $(PROG_BINS) $(TEST_BINS) $(SUITE_BINS)

$(call prog,%,userspace): userspace/%.c $(COMMON) userspace/bankloop.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BANK_CFLAGS) $(LDFLAGS) -o $@ $< $(COMMON) userspace/bankloop.c $(LDLIBS)

$(call prog,bank_fuzz,tests/fuzz): tests/fuzz/bank_fuzz.c
$(call prog,bank_lab,tests/lab): tests/lab/bank_lab.c
# Each program's own source is the one prerequisite under tests/.
$(TEST_BINS): $(COMMON) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BANK_CFLAGS) $(LDFLAGS) -o $@ $(filter tests/%.c,$^) $(COMMON) $(LDLIBS)

$(call prog,suite-%,tests/suite): tests/suite/%.c $(COMMON) $(HEADERS) $(SUITE_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BANK_CFLAGS) $(LDFLAGS) -o $@ $< $(COMMON) $(LDLIBS)

# Without KDIR's help, so that it works on any machine: what kbuild writes.
clean:
	rm -f $(foreach p,$(PROGS),userspace/$(p)) tests/fuzz/bank_fuzz tests/lab/bank_lab
	rm -f $(foreach s,$(SUITE),tests/suite/suite-$(s))
	rm -f module/*.o module/*.ko module/*.mod module/*.mod.c module/.*.cmd module/modules.order
	rm -f .*.cmd .module-common.o Module.symvers modules.order
	rm -rf build .tmp_versions
	find . -name '__pycache__' -prune -exec rm -rf {} +

check:
	@scripts/targets/check.sh

lint:
	@scripts/targets/lint.sh

demo:
	@scripts/targets/demo.sh

bench:
	@scripts/targets/bench.sh

bench-guard:
	@scripts/targets/bench.sh guard

bench-baseline:
	@scripts/targets/bench.sh baseline

bench-profile:
	@scripts/targets/bench.sh profile

vm-shell:
	@scripts/targets/vm-shell.sh

debug-kernel:
	@scripts/kernels/debug-kernel.sh >/dev/null

check-debug:
	@KERNEL=debug scripts/targets/check.sh

sanitize-kernel:
	@scripts/kernels/debug-kernel.sh sanitize >/dev/null

check-sanitize:
	@KERNEL=sanitize scripts/targets/check.sh

SEED ?= $(shell date +%s)
SECONDS ?= 10
LOCKS ?= mutex,spinlock,atomic,none
WORKERS ?= 4
OPS ?=
fuzz:
	@scripts/vm/vm.sh -t $$(( 300 + 4 * $(SECONDS) * 3 )) -i $$(( 300 + 2 * $(SECONDS) )) -- \
		/kbank/guest/fuzz.sh $(SEED) $(SECONDS) $(LOCKS) $(WORKERS) $(OPS)

demo-kcsan:
	@scripts/targets/demo-kcsan.sh

demo-deadlock:
	@STOCK=$(STOCK) scripts/targets/demo-deadlock.sh

demo-irq:
	@STOCK=$(STOCK) scripts/targets/demo-irq.sh

demo-readers:
	@scripts/targets/demo-readers.sh

KERNELS ?=
check-matrix:
	@scripts/targets/check-matrix.sh $(KERNELS)

check-distro:
	@scripts/targets/check-distro.sh

# The lab: the student's copy lives in exercise/ (ignored by git) unless
# EXERCISE=dir names another.
EXERCISE ?= exercise

exercise:
	@scripts/lab/exercise.sh $(if $(SOLVED),-s) $(if $(TASKS),-t "$(TASKS)") $(EXERCISE)

grade:
	@scripts/lab/grade.sh $(if $(TASK),-t "$(TASK)") $(EXERCISE)

lab-demo:
	@scripts/lab/lab-demo.sh $(EXERCISE)

check-lab:
	@scripts/lab/check-lab.sh

check-hang:
	@tests/harness/hung_guest.sh

RUNS ?= 10
TARGET ?= demo
soak:
	@scripts/targets/soak.sh $(RUNS) $(TARGET)

help:
	@sed -n 's/^#   //p' Makefile
