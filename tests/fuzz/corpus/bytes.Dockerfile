FROM a
RUN ÿþ --Ã  x
ONBUILD ONBUILD ONBUILD RUN x
COPY --chown="a b" --x=\
  y z
\
