using Microsoft.DurableTask;

namespace ServerlessMeta.Functions.Durable;

/// <summary>The <see cref="TaskActivityContext"/> handed to a shared activity class when a Functions activity trigger runs it.</summary>
internal sealed class FunctionActivityContext(TaskName name, string instanceId) : TaskActivityContext
{
    public override TaskName Name { get; } = name;

    public override string InstanceId { get; } = instanceId;
}
