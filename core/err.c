/* err.c: names and descriptions of the JQ_E* error codes. */
#include "err.h"

struct err_entry {
    int code;
    const char *name;
    const char *text;
};

static const struct err_entry errors[] = {
    {JQ_OK, "OK", "success"},
    {JQ_EINVAL, "EINVAL", "invalid argument"},
    {JQ_ENOMEM, "ENOMEM", "out of memory"},
    {JQ_ENOTFOUND, "ENOTFOUND", "not found"},
    {JQ_ESTATE, "ESTATE", "wrong state"},
    {JQ_EIO, "EIO", "I/O error"},
    {JQ_ETOOBIG, "ETOOBIG", "too big"},
    {JQ_EBUSY, "EBUSY", "busy"},
    {JQ_ESYS, "ESYS", "system call failed"},
    {JQ_ECORRUPT, "ECORRUPT", "corrupt data"},
    {JQ_EFULL, "EFULL", "storage full"},
};

static const struct err_entry *find(int err)
{
    for (unsigned i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
        if (errors[i].code == err)
            return &errors[i];
    return 0;
}

const char *jq_err_name(int err)
{
    const struct err_entry *e = find(err);
    return e ? e->name : "EUNKNOWN";
}

const char *jq_err_str(int err)
{
    const struct err_entry *e = find(err);
    return e ? e->text : "unknown error";
}
