package dev.jailer.server;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.logging.Formatter;
import java.util.logging.LogRecord;

/**
 * Formats a log record as one line: UTC timestamp, level, the logger's simple name, message. A
 * thrown exception follows on the next lines.
 */
final class OneLineFormatter extends Formatter {
  @Override
  public String format(LogRecord record) {
    String name = record.getLoggerName() == null ? "" : record.getLoggerName();
    StringBuilder line = new StringBuilder(128);
    line.append(record.getInstant())
        .append(' ')
        .append(record.getLevel().getName())
        .append(' ')
        .append(name.substring(name.lastIndexOf('.') + 1))
        .append(": ")
        .append(formatMessage(record))
        .append(System.lineSeparator());
    if (record.getThrown() != null) {
      StringWriter trace = new StringWriter();
      record.getThrown().printStackTrace(new PrintWriter(trace));
      line.append(trace);
    }
    return line.toString();
  }
}
