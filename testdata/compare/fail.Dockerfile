FROM compare/busybox:1
RUN echo ok
RUN echo failing; exit 3
