FROM a
RUN ["a\u0000", "\ud83d\ude00", "\ud800"]
CMD ["a", ["b"]]
ENV PATH
