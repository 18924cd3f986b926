# kbank: build the module and the programs, and run the VM targets.
#
#   make              the module (against KDIR) and the programs
#   make demo         the lesson, in a VM
#   make check        lint, then the whole suite in a VM
#   make exercise     the lab: a student's copy in exercise/ (DIR=, FORCE=1)
#   make grade        mark the student's copy in the VM (EXERCISE=, TASK=n)
#   make lab-demo     make demo with the student's copy (EXERCISE=)
#   make check-lab    test the examiner: solved, unsolved, typical mistakes
#   make help         every target

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

PROGS := deposit withdraw bankctl bank-race bank-bench bank-transfer
TESTS := bank_test bank_lab
COMMON := userspace/bank_client.c
HEADERS := include/uapi/linux/bank.h userspace/bank_client.h userspace/bankloop.h tests/tap.h

prog = $(if $(OUT),$(OUT)/$(1),$(2)/$(1))
PROG_BINS := $(foreach p,$(PROGS),$(call prog,$(p),userspace))
TEST_BINS := $(foreach t,$(TESTS),$(call prog,$(t),tests))

.PHONY: all module progs clean check lint demo bench vm-shell help \
	debug-kernel check-debug demo-kcsan demo-deadlock check-matrix \
	exercise grade check-lab lab-demo

all: module progs

module:
	@test -d "$(KDIR)" || { echo "make: no kernel build tree at $(KDIR):" \
		"install the headers (apt-get install linux-headers-$$(uname -r))" \
		"or pass KDIR=" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

progs: $(PROG_BINS) $(TEST_BINS)

$(call prog,%,userspace): userspace/%.c $(COMMON) userspace/bankloop.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BANK_CFLAGS) $(LDFLAGS) -o $@ $< $(COMMON) userspace/bankloop.c $(LDLIBS)

$(call prog,%,tests): tests/%.c $(COMMON) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BANK_CFLAGS) $(LDFLAGS) -o $@ $< $(COMMON) $(LDLIBS)

# Without KDIR's help, so that it works on any machine: what kbuild writes.
clean:
	rm -f $(foreach p,$(PROGS),userspace/$(p)) $(foreach t,$(TESTS),tests/$(t))
	rm -f module/*.o module/*.ko module/*.mod module/*.mod.c module/.*.cmd
	rm -f .*.cmd .module-common.o Module.symvers modules.order
	rm -rf build .tmp_versions
	find . -name '__pycache__' -prune -exec rm -rf {} +

check:
	@scripts/check.sh

lint:
	@scripts/lint.sh

demo:
	@scripts/demo.sh

bench:
	@scripts/bench.sh

vm-shell:
	@scripts/vm-shell.sh

debug-kernel:
	@scripts/debug-kernel.sh >/dev/null

check-debug:
	@KERNEL=debug scripts/check.sh

demo-kcsan:
	@scripts/demo-kcsan.sh

demo-deadlock:
	@scripts/demo-deadlock.sh

check-matrix:
	@scripts/check-matrix.sh

# The lab: the student's copy lives in exercise/ (ignored by git) unless
# EXERCISE=dir names another.
EXERCISE ?= exercise

exercise:
	@scripts/exercise.sh $(if $(SOLVED),-s) $(if $(TASKS),-t "$(TASKS)") $(EXERCISE)

grade:
	@scripts/grade.sh $(if $(TASK),-t "$(TASK)") $(EXERCISE)

lab-demo:
	@scripts/lab-demo.sh $(EXERCISE)

check-lab:
	@scripts/check-lab.sh

help:
	@sed -n 's/^#   //p' Makefile
