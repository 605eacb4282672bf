/*
 * admin: the commands an admin runs to set listbridge up and look at it.
 *
 *   listbridge group add SLUG NAME
 *   listbridge list add ADDRESS --group SLUG [--tag TAG]
 *                       [--policy hold|reject|accept]
 *   listbridge member add ADDRESS NAME [--address OTHER]... [--group SLUG]
 *                       [--delivery each|daily|weekly|none]
 *                       [--role member|moderator|admin] [--locale de|en]
 *   listbridge show group SLUG
 *
 * Each change is recorded in gateway.audit_event with who made it.  Each
 * function returns a sysexits code and prints errors to stderr.
 */
#ifndef ADMIN_H
#define ADMIN_H

#include <libpq-fe.h>

int admin_group_add(PGconn *conn, int argc, char **argv);
int admin_list_add(PGconn *conn, int argc, char **argv);
int admin_member_add(PGconn *conn, int argc, char **argv);
int admin_show_group(PGconn *conn, int argc, char **argv);

#endif
