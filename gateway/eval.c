#include "eval.h"
int
eval_mime_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return 1;
}
