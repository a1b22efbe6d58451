import Testing
@testable import Containers

@Suite struct CgroupResourcesTests {
    @Test func pressureFilesAndV1CgroupLinesParse() {
        let psi = Pressure.parse("some avg10=1.50 avg60=0.25 avg300=0.00 total=70534\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=45616\n")
        #expect(psi == Pressure(some: PressureStall(avg10: 1.5, avg60: 0.25, totalMicroseconds: 70534),
                                full: PressureStall(avg10: 0, avg60: 0, totalMicroseconds: 45616)))
        #expect(Pressure.parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=1\n")?.full == nil)
        #expect(Pressure.parse("garbage") == nil)
        let paths = CgroupResources.v1Paths(of: "12:memory:/c1\n4:cpu,cpuacct:/c1\n1:name=systemd:/x\n0::/c1\n")
        #expect(paths["memory"] == "/c1" && paths["cpuacct"] == "/c1" && paths["cpu"] == "/c1" && paths[""] == nil)
        #expect(CgroupResources.keyed("usage_usec 195294\nuser_usec 52819\n")["usage_usec"] == 195294)
    }
}
