FROM compare/busybox:1
ARG N=3
RUN mkdir -p /data && \
    echo ${N:-0} > /data/n
COPY b.txt /data/
FROM compare/busybox:1 AS final
COPY --from=0 /data /data
RUN cat /data/n /data/b.txt
