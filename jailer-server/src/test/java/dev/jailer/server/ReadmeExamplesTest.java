package dev.jailer.server;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.util.JsonFormat;
import dev.jailer.v1.JailerProto;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every {@code grpcurl ... -d '<json>' ... jailer.v1.Jailer/Method} example of the README names
 * a real method and carries a body that parses as its request message, with no unknown field.
 */
class ReadmeExamplesTest {
  private static final Pattern CALL =
      Pattern.compile("-d '([^']*)'[^\\n]*(?:\\\\\\n[^\\n]*)?jailer\\.v1\\.Jailer/(\\w+)");

  @Test
  void readme_grpcurlExamples_matchTheContract() throws Exception {
    Path readme = Path.of(System.getProperty("user.dir")).getParent().resolve("README.md");
    String text = Files.readString(readme);

    Matcher m = CALL.matcher(text);
    int calls = 0;
    while (m.find()) {
      MethodDescriptor method =
          JailerProto.getDescriptor().findServiceByName("Jailer").findMethodByName(m.group(2));
      assertNotNull(method, "no method " + m.group(2));
      DynamicMessage.Builder request = DynamicMessage.newBuilder(method.getInputType());
      JsonFormat.parser().merge(m.group(1), request);
      calls++;
    }

    assertTrue(calls >= 7, "expected the README to show every call, found " + calls);
  }
}
