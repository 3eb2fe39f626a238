/* err.h: the project's error codes. Fallible functions return 0 or one of
 * these (negative) values; jq_err_name() gives the stable name. api/errors.c
 * maps them to HTTP statuses. */
#ifndef JQ_ERR_H
#define JQ_ERR_H

#define JQ_OK 0
#define JQ_EINVAL -1    /* invalid argument or input */
#define JQ_ENOMEM -2    /* out of memory */
#define JQ_ENOTFOUND -3 /* no such job */
#define JQ_ESTATE -4    /* the job is in the wrong state for that */
#define JQ_EIO -5       /* storage or system I/O failed */
#define JQ_ETOOBIG -6   /* over a size cap */
#define JQ_EBUSY -7     /* try again later (shutting down, pool full) */
#define JQ_ESYS -8      /* a system call failed (see the log) */
#define JQ_ECORRUPT -9  /* data failed a consistency check */
#define JQ_EFULL -10    /* storage full */

#if defined(__GNUC__)
#define JQ_MUST_CHECK __attribute__((warn_unused_result))
#else
#define JQ_MUST_CHECK
#endif

/* "EINVAL", "ENOMEM", ...; "EUNKNOWN" for anything else. */
const char *jq_err_name(int err);
/* A short English description. */
const char *jq_err_str(int err);

#endif
