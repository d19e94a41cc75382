/* Prints every "section.key" the config parser accepts, one per line (for
 * the man page drift test). */
#include <stdio.h>

#include "config.h"

int main(void)
{
	for (const char *const *k = config_known_keys(); *k; k++)
		printf("%s\n", *k);
	return 0;
}
