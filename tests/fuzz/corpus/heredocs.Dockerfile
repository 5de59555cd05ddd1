# syntax=docker/dockerfile:1
FROM alpine AS base
RUN <<EOF
echo hello
EOF
COPY <<a.txt <<"b.txt" /dst/
A
a.txt
B
b.txt
RUN 3<<-EOT cat /dev/fd/3
	indented
	EOT
ONBUILD RUN <<EOF
echo onbuild
EOF
RUN cat <<EOF${x:-y} "<<EOF
EOF
