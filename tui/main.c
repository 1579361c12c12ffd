/* Placeholder entry point, replaced by the command table in this file. */
#include <stdio.h>
int main(void)
{
	puts("airlock");
	return 0;
}
