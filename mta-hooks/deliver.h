/*
 * deliver: the pipe entry point an MTA runs once per message.
 *
 *   listbridge deliver [-f SENDER] RECIPIENT... < message
 *
 * Exits with a sysexits(3) code the MTA understands: 0 stored or
 * deliberately dropped, 65 unusable message, 67 no such list, 75 anything
 * transient (the MTA keeps the message and retries), 77 refused by
 * policy, 78 bad configuration.
 */
#ifndef DELIVER_H
#define DELIVER_H

int deliver_main(int argc, char **argv);

#endif
