/*
 * lberror: the one error domain of listbridge (see lberror.h).
 */
#include "lberror.h"

G_DEFINE_QUARK(listbridge - error - quark, lb_error)

int
lb_error_code(const GError *err)
{
	if (err == NULL || err->domain != LB_ERROR)
		return EX_TEMPFAIL;
	return err->code;
}
