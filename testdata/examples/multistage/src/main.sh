#!/bin/sh
# The example application: prints a greeting and its version.
echo "hello from cbuild example, version @VERSION@"
[ "$1" = "--verbose" ] && cat /opt/hello/deps.list
exit 0
