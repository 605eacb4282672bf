/*
 * lberror: the one error domain of listbridge.
 *
 * Every GError raised by listbridge code is in LB_ERROR and its code is the
 * sysexits(3) code the MTA hooks exit with when the error reaches them:
 * EX_TEMPFAIL for anything transient or unexpected, EX_DATAERR for unusable
 * input, EX_NOUSER for an unknown address, EX_NOPERM for a policy refusal,
 * EX_CONFIG for a bad setting.  Library code raises, only main() exits.
 */
#ifndef LBERROR_H
#define LBERROR_H

#include <glib.h>
#include <sysexits.h>

#define LB_ERROR (lb_error_quark())

GQuark lb_error_quark(void);

/* lb_error_code: the exit code for err: its code when in LB_ERROR,
 * EX_TEMPFAIL for NULL or any foreign domain (the safe default). */
int lb_error_code(const GError *err);

#endif
