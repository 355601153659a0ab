package dev.graphdex.stack.registry;

import io.apicurio.common.apps.config.DynamicConfigPropertyList;
import java.util.List;
import javax.enterprise.context.ApplicationScoped;
import javax.enterprise.inject.Produces;
import javax.inject.Singleton;

/**
 * Produces the bean that Apicurio's config-index Quarkus extension generates at build time: the list of
 * configuration properties that may be changed at run time through the registry's admin API. That
 * extension's deployment module is not on Maven Central (see pom.xml), so the list is produced here,
 * empty: the local stack changes no registry setting at run time.
 */
@ApplicationScoped
public class ConfigIndexStandIn {

    @Produces
    @Singleton
    DynamicConfigPropertyList dynamicConfigProperties() {
        return new DynamicConfigPropertyList(List.of());
    }
}
