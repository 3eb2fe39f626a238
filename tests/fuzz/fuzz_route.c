/* fuzz_route.c: libFuzzer target over the router: any bytes as a URL (up
 * to the first NUL, as libmicrohttpd hands it over) and a method chosen by
 * the first byte. A matched id must be 1..INT64_MAX and print back to the
 * same digits. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "HEAD", "POST", "DELETE", "PUT", "PATCH", "OPTIONS", ""};
    if (size == 0)
        return 0;
    char *url = malloc(size);
    memcpy(url, data + 1, size - 1);
    url[size - 1] = '\0';
    struct jq_route r = jq_route_match(url);
    (void)jq_route_allows(r.kind, methods[data[0] % 8]);
    if (strlen(jq_route_allow_header(r.kind)) == 0 && r.kind != JQ_ROUTE_NONE)
        abort();
    if (r.id_valid) {
        char digits[32];
        snprintf(digits, sizeof digits, "/%" PRId64, r.id);
        if (r.id < 1 || !strstr(url, digits))
            abort();
    }
    free(url);
    return 0;
}
