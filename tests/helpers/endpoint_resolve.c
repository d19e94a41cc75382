/* endpoint_resolve: resolves the endpoint with the daemon's resolver and
 * prints it, so that a test can compare it with the official rule set
 * (tests/data/cleanroomsml/endpoint-rule-set-1.json) evaluated on its own.
 *
 * Usage: endpoint_resolve [--region R] [--profile P] [--endpoint URL] [--fips] [--dualstack]
 * Output: one line "url BASE_URL REGION" (exit 0) or "error MESSAGE" (exit 1).
 * The environment and the AWS config file are read as the daemon reads them. */
#include <stdio.h>
#include <string.h>

#include "aws/endpoint.h"

int main(int argc, char **argv)
{
	struct aws_endpoint_options o = {};
	struct aws_endpoint e = {};
	char err[512] = "";
	int r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--fips") == 0)
			o.fips = true;
		else if (strcmp(argv[i], "--dualstack") == 0)
			o.dualstack = true;
		else if (i + 1 < argc && strcmp(argv[i], "--region") == 0)
			o.region = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--profile") == 0)
			o.profile = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--endpoint") == 0)
			o.endpoint = argv[++i];
		else {
			fprintf(stderr, "endpoint_resolve: bad argument %s\n", argv[i]);
			return 2;
		}
	}
	r = aws_resolve_endpoint(&o, &e, err, sizeof(err));
	if (r < 0) {
		printf("error %s\n", err);
		return 1;
	}
	printf("url %s %s\n", e.base_url, e.region);
	aws_endpoint_done(&e);
	return 0;
}
