/* params.h: strict parsing of the API's query parameters. */
#ifndef JQ_PARAMS_H
#define JQ_PARAMS_H

#include <stdbool.h>
#include <stdint.h>
#include "api_int.h"
#include "store.h"

/* ?wait=SECONDS (0..3600, decimals allowed) in ms; 0 when absent. False
 * when present but invalid. */
bool jq_param_wait_ms(const struct jq_request *req, int64_t *ms_out);
/* ?state=&limit=&after= into *q. False with *bad set to a message. */
bool jq_param_list_query(const struct jq_request *req, struct jq_list_query *q, const char **bad);

#endif
