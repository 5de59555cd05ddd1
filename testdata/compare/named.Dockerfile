FROM compare/busybox:1 AS build
ARG X=hello
WORKDIR /src
COPY a.txt .
RUN echo $X > out.txt &&   cat a.txt >> out.txt

FROM compare/busybox:1
ENV Y=world
COPY --from=build /src/out.txt /out.txt
RUN   echo ${Y} >> /out.txt
CMD ["cat", "/out.txt"]
