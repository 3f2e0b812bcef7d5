/*
 * explaintext: the words of `ustatsd explain` for one line: the daemon's verdict
 * (intake_explain()), where in the line it falls, and which key of the config decides it.
 *
 * A domain module: a verdict and the config go in, text comes out.
 *
 *   accepted  imgsrv_objectstore_operations_total:1|c|#operation:get,outcome:success
 *     family  imgsrv_objectstore_operations (counter)
 *     series  imgsrv_objectstore_operations_total{operation="get",outcome="success"}
 *     note    a new series: the daemon takes it while ...
 *
 *   rejected  checkout_orders:1|c|#payment:cash
 *     reason  label_value_not_allowed: a tag value is not among the label's values
 *     at      payment:cash
 *     config  families.checkout_orders.labels.payment.values
 *
 * Config keys are written as paths by name: families.<name>.labels.<label>.values,
 * limits.max_series, jobs.list.<job>.counter.outcome_tag, writers[<index>]. A reason of
 * the wire protocol (a line the parser refuses) names no config key, but PROTOCOL.md.
 */
#ifndef USTATSD_EXPLAINTEXT_H
#define USTATSD_EXPLAINTEXT_H

#include <stddef.h>

#include "base/buf.h"
#include "config/config.h"
#include "ingest/intake.h"
#include "store/registry.h"

/*
 * Append the verdict v on the line (len bytes, as given to intake_explain()) against
 * reg, whose config is c. Every line of text ends in '\n'.
 */
void explaintext_write(struct buf *out, const struct config *c, const struct registry *reg,
                       const char *line, size_t len, const struct intake_verdict *v);

/*
 * The part of the line a reason is about (the name, the values, the type, a field, a
 * tag): sets *at and returns its length; the whole line when no part is.
 */
size_t explaintext_part(const char *line, size_t len, const struct intake_verdict *v,
                        const char **at);

/*
 * The config key that decides v's reason, written into key (a path as above), or "" when
 * none does (the wire protocol's reasons).
 */
void explaintext_key(const struct config *c, const struct registry *reg,
                     const struct intake_verdict *v, char *key, size_t keylen);

#endif
