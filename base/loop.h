/* SPDX-License-Identifier: MIT */
/*
 * loop.h - the one lifecycle contract of every object that lives on a
 * libuv loop in kmsdns.  No code here: the rules every such module keeps,
 * written once, and named by each module's header ("Lifecycle
 * (base/loop.h)").
 *
 * 1. Long-lived objects (the server, the control socket, kmsd's DNS
 *    publishing, the publisher engine, the DNS query engine):
 *
 *        X_new()    allocates and checks; opens nothing that needs closing,
 *                   except where the header says the object is ready at
 *                   once (the query engine) - then X_stop() is due anyway;
 *        X_start()  opens handles and begins the work (where the object
 *                   has a start at all);
 *        X_stop(x, cb, ud)
 *                   cancels what is under way and begins closing; @c cb
 *                   runs once, from the loop, when the last handle is closed
 *                   and no callback of the object is still to come; never
 *                   from inside X_stop() itself; calling it twice is
 *                   harmless;
 *        X_free()   releases the memory, after the stop callback (or after
 *                   X_new() without a start).  X_free(NULL) is a no-op.
 *
 * 2. One-shot operations (an RPC client operation, a DNS exchange, a
 *    query): X_start(..., cb, ud[, &handle]) begins; @c cb runs exactly
 *    once, from the loop, never from inside X_start() or X_cancel();
 *    X_cancel(handle) makes it run soon with KMS_ECANCELED; the handle is
 *    valid until the callback has returned, and the operation's memory goes
 *    after its handles' close callbacks.
 *
 * 3. Memory held by a uv handle is released in that handle's close
 *    callback, never before: a loop that has run to completion can be
 *    closed (every test ends with uv_loop_close() == 0).
 *
 * 4. Work that can block and is nobody's answer - the fsyncs of a state
 *    file written on a timer or after a DNS run (the ledger, the published
 *    records), a Kerberos call that may reach the KDC - does not run on the
 *    loop thread: it goes to libuv's threadpool (uv_queue_work()) with a
 *    copy of what it needs, and its result comes back on the loop.  The one
 *    exception is a verb's own state file (ipk, sai, ...): it must be on
 *    disk before the verb answers OK, and is written before the answer.
 *
 * 5. User callbacks run with the object in a consistent state and may call
 *    the object back (start the next run, stop it); an object that cannot
 *    take that in the middle of its own callback defers the work to a 0 ms
 *    timer of its own (kmsd's DNS job queue does so).
 */
#ifndef KMS_BASE_LOOP_H
#define KMS_BASE_LOOP_H

#endif
