#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("jobwatchd %s\n", JW_VERSION);
		return 0;
	}
	fprintf(stderr, "jobwatchd: not implemented yet\n");
	return 1;
}
