package dev.jbolt.distill.cli;

import dev.jbolt.distill.JboltRuntime;
import picocli.CommandLine;

/** Reports the library and libtorch versions for {@code --version}. */
final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        var info = JboltRuntime.load();
        return new String[] {
            "jbolt-distill " + info.version(), "libtorch " + info.libtorchVersion()
        };
    }
}
