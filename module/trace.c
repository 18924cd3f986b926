// SPDX-License-Identifier: GPL-2.0
/*
 * The events of trace system "bank": defined here, once, declared in
 * bank_trace.h, which every file that traces includes.
 */
#define CREATE_TRACE_POINTS
#include "bank_trace.h"
