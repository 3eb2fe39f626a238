/* dashboard.c: GET / — the dashboard page embedded from dashboard/index.html.
 * The page is static and holds no secret; it asks the user for the token
 * and sends it with its API calls. Headers keep it from being framed or
 * from loading anything but itself and the API. */
#include "api_int.h"

static const char dashboard_csp[] = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                    "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
                                    "frame-ancestors 'none'";

enum MHD_Result jq_handle_dashboard(struct jq_request *req)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        jq_dashboard_html_len, (void *)jq_dashboard_html, MHD_RESPMEM_PERSISTENT);
    if (resp) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
        MHD_add_response_header(resp, "Content-Security-Policy", dashboard_csp);
        MHD_add_response_header(resp, "X-Frame-Options", "DENY");
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    }
    return jq_reply_response(req, MHD_HTTP_OK, resp);
}
