#escape=`
# check=skip=all
# a comment
FROM mcr.microsoft.com/windows `
  AS build
RUN dir c:\ `
# inside
  && echo done
ENV A=1 B="two words" C=three` words
LABEL legacy value here
ARG X="1 2" Y
HEALTHCHECK --interval=5s CMD ["curl", "-f", "http://x/"]
